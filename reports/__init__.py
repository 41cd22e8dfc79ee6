"""The PDF briefings: what a briefing says (briefing.py), its charts (charts.py), HTML from the templates
under templates/ and PDF/A-3u through WeasyPrint (render.py, pdf.py), with the fonts under fonts/."""
