"""Evidence a run leaves for readers without the dashboards: its one-file HTML report."""
