"""The shipped data files (catalog, payer profiles, diagram, fonts, aftercare), installed as the
package `tpi_chart.resources` (pyproject.toml maps it to this folder) and read only through
`tpi_chart.domain.resources`."""
