/** The HTML report's stylesheet, inline: the page must open anywhere without the network. */
export const HTML_STYLE = `
:root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f6f7f9;--card:#fff;--pass:#1a7f37;--fail:#c4320a;--leak:#b42318;--warn:#b54708;--client:#2563eb;--server:#ea580c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1120px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:0}
h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:0 0 6px}
a{color:inherit}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.verdict{border-radius:10px;padding:18px 22px;color:#fff;display:flex;gap:24px;align-items:center;flex-wrap:wrap}
.verdict.pass{background:linear-gradient(135deg,#1a7f37,#2da44e)}
.verdict.fail{background:linear-gradient(135deg,#c4320a,#e0561f)}
.verdict.leak{background:linear-gradient(135deg,#912018,#d92d20)}
.verdict.incomplete{background:linear-gradient(135deg,#93370d,#dc6803)}
.verdict .word{font-size:30px;font-weight:800;letter-spacing:.02em;text-transform:uppercase}
.verdict .why{opacity:.95}
.facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin:12px 0 0;color:var(--muted)}
.facts b{color:var(--fg);font-weight:600}
nav{margin:14px 0 0;display:flex;gap:14px;flex-wrap:wrap}
nav a{color:var(--muted);text-decoration:none;border-bottom:1px dotted var(--muted)}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px;margin-top:16px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.tile .v{font-size:22px;font-weight:700}
.tile .k{color:var(--muted);font-size:12px}
.tile.bad .v{color:var(--fail)} .tile.good .v{color:var(--pass)}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:10px 0}
.grid2{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}
.grid3{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px;background:#fafbfc}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.n{white-space:nowrap;overflow-wrap:normal}
tr.failed td{background:#fff4ed}
.ok{color:var(--pass);font-weight:700} .ko{color:var(--fail);font-weight:700} .nj{color:var(--warn);font-weight:700}
tr.unjudged td{background:#fffaeb}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;background:#fee4e2;color:var(--leak)}
.badge.clean{background:#dcfae6;color:var(--pass)}
.badge.unjudged{background:#f2f4f7;color:#667085}
.muted{color:var(--muted);fill:#667085}
.note{background:#fffaeb;border:1px solid #fedf89;border-radius:8px;padding:8px 12px;margin:10px 0}
details summary{cursor:pointer;color:var(--muted);margin-top:6px}
details.finding{padding:6px 12px;margin:6px 0}
details.finding>summary{color:var(--fg);font-weight:600;margin:0}
details.finding[open]>summary{margin-bottom:6px}
td{overflow-wrap:anywhere}
pre{background:#f2f4f7;border-radius:6px;padding:8px;overflow:auto;max-height:320px;margin:6px 0}
.trace td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;padding:2px 6px}
.trace tr.hl td{background:#fef0c7}
.trace tr.related td{color:var(--muted)}
.chart{max-width:100%;height:auto;background:var(--card)}
.chart .grid{stroke:#eef0f3} .chart .axis{stroke:#98a2b3}
.chart .tick{font-size:10.5px;fill:#475467} .chart .al{font-size:10.5px;fill:#667085}
.chart .ct{font-size:12.5px;font-weight:600;fill:#1d2330} .chart .lg{font-size:11px;fill:#344054}
.chart .band{fill:#f2f4f7} .chart .band.clear{fill:transparent} .chart .bl{font-size:9.5px;fill:#98a2b3} .chart .track{fill:#f2f4f7}
.phases{display:flex;flex-wrap:wrap;gap:4px 14px;color:var(--muted);font-size:12px;margin:4px 0 0}
.phases b{display:inline-block;min-width:16px;text-align:center;border-radius:8px;background:#f2f4f7;color:var(--fg);margin-right:3px}
footer{margin-top:32px;color:var(--muted);font-size:12px}
`;
