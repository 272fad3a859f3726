"""The BuildSeg panel (a dock for interactive work in the QGIS desktop) and its algorithm runs as background
tasks logged in the Processing history (`tasks`). The panel holds no science: every action that makes
something is a run of one of the provider's Processing algorithms, so it can be replayed from the Processing
history or headless with `qgis_process`."""
