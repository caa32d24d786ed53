"""Talking to rasdaman: petascope (WCS, WCPS, WCS-T) over HTTP, rasql over rasdapy3, and their formats."""
