from tpi_chart.app import main

raise SystemExit(main())
