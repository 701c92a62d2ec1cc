"""Hazard-zone geometry: GeoJSON in any CRS, repair, buffers in metres, postcode areas and the
vectorised subscriber index. Pure: no database, no asyncio, never imports alertd."""
