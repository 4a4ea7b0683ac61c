"""Only what pyproject.toml cannot say: `resources/` (a top-level folder, so a clinic reviews the
data without opening the code) is installed as the package `tpi_chart.resources`, each of its
folders a subpackage of it. A `find` in pyproject.toml cannot add packages that live outside
`tpi_chart/`, and an explicit list would silently drop every new subpackage from the wheel."""

from setuptools import find_namespace_packages, find_packages, setup

data_folders = [
    f"tpi_chart.resources.{name}"
    for name in find_namespace_packages(where="resources", exclude=["*__pycache__*"])
]
data_files = ["*.json", "*.md", "*.ttf", "*.marshal", "*.txt", "*.svg", "*.png"]
setup(
    packages=[
        *find_packages(include=["tpi_chart", "tpi_chart.*"]),
        "tpi_chart.resources",
        *data_folders,
    ],
    package_dir={"tpi_chart.resources": "resources"},
    package_data=dict.fromkeys(["tpi_chart.resources", *data_folders], data_files),
)
