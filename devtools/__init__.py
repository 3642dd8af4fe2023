"""Developer and operator tools that never ship to Lambda (chalice packages only
app.py, chalicelib/ and requirements.txt)."""
