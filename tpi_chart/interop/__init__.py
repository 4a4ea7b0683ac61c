"""Messages for a record system: FHIR R4 and HL7 v2.5.1 built from a signed procedure.

Pure functions (no SQL, no Qt, no files): a `SignedNote` (the document, its evaluation, its
charge lines and the signed PDF bytes) in, JSON or message text out. `tpi_chart.services.interop`
gathers the input from the store and writes the output.
"""
