"""The report's inline style sheet and script (the problem browser's filters and rationale views)."""

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:10px 20px;position:sticky;top:0;z-index:2}
header a{color:#b3e5fc;margin-right:12px;text-decoration:none} header select{margin-left:8px}
main{padding:0 20px 40px;max-width:1400px} h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;background:#fff} td,th{border:1px solid #e0e0e0;padding:3px 8px}
th{background:#f0f0f0;text-align:left}
table.num td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#666} .charts{display:flex;flex-wrap:wrap;gap:16px} svg.chart{background:#fff;border:1px solid #ddd}
.tick{font-size:10px;fill:#555} .legend{font-size:11px;fill:#333} .axis{font-size:12px;fill:#333}
.two{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
.filters{margin:8px 0;display:flex;gap:14px;flex-wrap:wrap;align-items:center}
.plist{max-height:260px;overflow:auto;border:1px solid #ddd;background:#fff}
.plist div{padding:2px 8px;cursor:pointer;border-bottom:1px solid #f3f3f3;
  font-family:ui-monospace,monospace;font-size:12px}
.plist div:hover,.plist div.sel{background:#e3f2fd}
.pdetail{margin-top:10px} .pdetail td{font-family:ui-monospace,monospace;font-size:12px;vertical-align:top}
.ok{color:#1b5e20;background:#e8f5e9} .wrong{color:#b71c1c;background:#ffebee;font-weight:600}
tr.right td:first-child{border-left:4px solid #43a047} tr.bad td:first-child{border-left:4px solid #e53935}
.pick{font-weight:700;outline:2px solid #1565c0} .rat{display:block;white-space:pre-wrap;margin:2px 0}
.tag{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;margin-left:6px}
.tag.f{background:#ffcdd2} .tag.r{background:#c8e6c9}
.steps{display:flex;flex-wrap:wrap;gap:2px;margin:3px 0} .step{padding:0 4px;border-radius:3px;font-size:11px}
.step.first{outline:2px solid #000} .step.truth{box-shadow:inset 0 -3px 0 #6a1b9a}
"""


SCRIPT = r"""
(function(){
const DATA = JSON.parse(document.getElementById('report-data').textContent);
const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const fmt = v => (typeof v === 'number') ? v.toFixed(3) : '–';
function marks(text){ // step verdicts of a rationale, highlighted
  return esc(text).replace(/\b(ok|correct)\b/g,'<span class="ok">$1</span>')
                  .replace(/\b(wrong|missing|extra|incorrect)\b/g,'<span class="wrong">$1</span>');
}
function stepStrip(st, truth){ // each step coloured by the share of rationales marking it wrong
  return '<div class="steps" title="steps: red = rationales marking it wrong; outlined = predicted first wrong ' +
    'step; underlined = the oracle\'s">' + st.steps.map((s, k) => {
      const w = st.share[k], bg = 'rgb(255,' + Math.round(255 - 180 * w) + ',' + Math.round(255 - 180 * w) + ')';
      return '<span class="step' + (st.first === k ? ' first' : '') + (truth === k ? ' truth' : '') +
        '" style="background:' + bg + '" title="' + esc(s) + ': ' + Math.round(100 * w) + '% wrong">' +
        esc(s.split(' -> ')[0].split('/')[0]) + '</span>';
    }).join('') + (st.first === -1 ? '<span class="step first">no error</span>' : '') + '</div>';
}
function showRun(i){
  document.querySelectorAll('.run').forEach(el => el.hidden = (el.dataset.run !== String(i)));
  document.querySelectorAll('header a[data-sec]').forEach(a => a.href = '#' + a.dataset.sec + '-' + i);
}
function detail(run, root, p){
  const ms = Object.keys(p.methods);
  let h = '<h3>' + esc(p.id) + ': ' + esc(p.question) + '</h3><p>reference answer <b>' + esc(p.answer) +
    '</b>; majority vote <b>' + esc(p.majority) + '</b> (' + (p.sc_right ? 'right' : 'wrong') + ')</p>';
  h += '<table><thead><tr><th>#</th><th>candidate</th><th>answer</th><th>correct</th>' +
       ms.map(m => '<th>' + esc(DATA.names[m] || m) + '</th>').join('') + '</tr></thead><tbody>';
  p.candidates.forEach((c, i) => {
    h += '<tr class="' + (c.correct ? 'right' : 'bad') + '"><td>' + i + '</td><td>' + esc(c.text) + '</td><td>' +
      esc(c.answer) + '</td><td>' + (c.correct ? 'yes' : 'no') + '</td>';
    ms.forEach(m => {
      const d = p.methods[m], picked = d.pick === i;
      h += '<td' + (picked ? ' class="pick" title="picked by ' + esc(m) + '"' : '') + '>' + fmt(d.scores[i]);
      const st = (d.steps || [])[i];
      if (st) h += stepStrip(st, c.first_error);
      (d.rationales[i] || []).forEach((r, k) => {
        h += '<span class="rat">[' + fmt((d.votes[i] || [])[k]) + '] ' + marks(r) + '</span>';
      });
      h += '</td>';
    });
    h += '</tr>';
  });
  root.querySelector('.pdetail').innerHTML = h + '</tbody></table>';
}
function browser(sec, run){
  const list = sec.querySelector('.plist'), sel = sec.querySelector('.f-method');
  const fooled = sec.querySelector('.f-fooled'), rescued = sec.querySelector('.f-rescued');
  const text = sec.querySelector('.f-text'), count = sec.querySelector('.f-count');
  function render(){
    const m = sel.value, q = text.value.toLowerCase();
    const rows = run.problems.filter(p => {
      const d = p.methods[m];
      if (fooled.checked && !(d && d.fooled)) return false;
      if (rescued.checked && !(d && d.rescued)) return false;
      return !q || (p.question + ' ' + p.answer).toLowerCase().includes(q);
    });
    count.textContent = rows.length + ' of ' + run.problems.length + ' problems';
    list.innerHTML = rows.map((p, i) => {
      const d = p.methods[m] || {};
      return '<div data-i="' + run.problems.indexOf(p) + '">' + esc(p.id) + '  ' + esc(p.question) +
        (d.fooled ? '<span class="tag f">fooled</span>' : '') +
        (d.rescued ? '<span class="tag r">rescued</span>' : '') +
        '</div>';
    }).join('');
    if (rows.length) detail(run, sec, rows[0]); else sec.querySelector('.pdetail').innerHTML = '';
    const first = list.querySelector('div'); if (first) first.classList.add('sel');
  }
  list.addEventListener('click', e => {
    const el = e.target.closest('div[data-i]'); if (!el) return;
    list.querySelectorAll('.sel').forEach(x => x.classList.remove('sel')); el.classList.add('sel');
    detail(run, sec, run.problems[+el.dataset.i]);
  });
  [sel, fooled, rescued].forEach(el => el.addEventListener('change', render));
  text.addEventListener('input', render);
  render();
}
document.querySelectorAll('.run').forEach(
  el => browser(el.querySelector('section.problems'), DATA.runs[+el.dataset.run]));
const pick = document.getElementById('run-select');
if (pick) pick.addEventListener('change', () => showRun(pick.value));
showRun(0);
document.body.dataset.ready = '1';
})();
"""
