"""Accessibility: the installation's accessibility statement (BITV 2.0), the barrier reports
citizens send from it, and the sign-language (DGS) videos shown on the start page."""
