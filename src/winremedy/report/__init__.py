"""Renderings of findings: terminal tables now; JSON, CSV, JUnit and HTML reports build on the same rows."""
