// Drives a running JupyterLab in Debian's headless Chromium (playwright-core, never a downloaded
// browser): opens each notebook, runs all cells, checks errors, kernel and rendered Plotly charts.
//
// node lab.cjs --url URL --token T --root DIR --out DIR --kernel "Rust (Reprise)"
//              [--expect-broken NB] NB...
// Writes OUT/results.json and a screenshot per notebook (and per figure) under OUT; exits 1 when a
// notebook has a problem, or when the --expect-broken notebook is *not* caught with a figure problem.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

function parseArgs(argv) {
  const a = { notebooks: [], kernel: 'Rust (Reprise)', chromium: '/usr/bin/chromium', timeout: 600 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--url') a.url = v();
    else if (k === '--token') a.token = v();
    else if (k === '--root') a.root = v();
    else if (k === '--out') a.out = v();
    else if (k === '--kernel') a.kernel = v();
    else if (k === '--chromium') a.chromium = v();
    else if (k === '--timeout') a.timeout = Number(v());
    else if (k === '--expect-broken') a.broken = v();
    else if (k.startsWith('--')) throw new Error(`unknown option ${k}`);
    else a.notebooks.push(k);
  }
  for (const k of ['url', 'token', 'root', 'out']) if (!a[k]) throw new Error(`--${k} is required`);
  if (a.broken && !a.notebooks.includes(a.broken)) a.notebooks.push(a.broken);
  return a;
}

const isLocal = (u) => /^(data:|blob:|about:)/.test(u) || /^(https?|wss?):\/\/127\.0\.0\.1(:\d+)?\//.test(u);
const PLOTLY = 'application/vnd.plotly.v1+json';

// What the notebook file promises before anything runs.
function fileChecks(file, kernelName) {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  const problems = [];
  const ks = (nb.metadata || {}).kernelspec || {};
  if (ks.name !== 'reprise') problems.push(`metadata.kernelspec.name is ${JSON.stringify(ks.name)}, not "reprise": the notebook would open with a kernel dialog`);
  if (ks.display_name !== kernelName) problems.push(`metadata.kernelspec.display_name is ${JSON.stringify(ks.display_name)}, not ${JSON.stringify(kernelName)}`);
  const figureCells = [];
  let code = 0;
  for (const c of nb.cells) {
    if (c.cell_type !== 'code') continue;
    if (((c.metadata || {}).tags || []).includes('figure')) figureCells.push(code);
    code++;
  }
  return { problems, figureCells, codeCells: code };
}

async function statusText(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('.jp-StatusBar-TextItem')).map((e) => e.textContent.trim()));
}

async function waitFor(what, timeoutS, poll) {
  const end = Date.now() + timeoutS * 1000;
  for (;;) {
    const r = await poll();
    if (r) return r;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutS} s waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

async function runNotebook(ctx, args, nb, outDir) {
  const t0 = Date.now();
  const res = { notebook: nb, problems: [], figureProblems: [], caught: [], plotlyCells: [], screenshots: [], figures: 0, external: [] };
  const pre = fileChecks(path.join(args.root, nb), args.kernel);
  res.problems.push(...pre.problems);
  const page = await ctx.newPage();
  page.setViewportSize({ width: 1280, height: 900 });
  page.on('request', (r) => { if (!isLocal(r.url())) res.external.push(r.url()); });
  page.on('websocket', (w) => { if (!isLocal(w.url())) res.external.push(w.url()); });
  const stem = nb.replace(/\.ipynb$/, '').replace(/[^A-Za-z0-9_.-]/g, '_');
  try {
    await page.goto(`${args.url}/lab/tree/${encodeURIComponent(nb)}?reset&token=${args.token}`);
    await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 60000 });
    const want = `${args.kernel} | Idle`;
    await waitFor(`the status bar to read "${want}"`, 120, async () => {
      const dialog = await page.evaluate(() => {
        const d = document.querySelector('.jp-Dialog .jp-Dialog-header');
        return d ? d.textContent.trim() : null;
      });
      if (dialog !== null) throw new Error(`a dialog opened instead of the kernel: "${dialog}"`);
      return (await statusText(page)).some((t) => t === want);
    });
    await page.locator('.lm-MenuBar-item', { hasText: /^Run$/ }).click();
    await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
    // Done when every code cell has an execution count and the kernel is idle again.
    await waitFor('every cell to finish', args.timeout, async () => {
      const s = await page.evaluate(() => {
        const p = Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')).map((e) => e.textContent.trim());
        return p.every((t) => /^\[\d+\]:$/.test(t)) && p.length > 0;
      });
      return s && (await statusText(page)).some((t) => t === want);
    });
    const seen = await page.evaluate((mime) => {
      const app = window.jupyterapp;
      const w = app && app.shell.currentWidget;
      if (!w || !w.context) return { error: 'window.jupyterapp has no current notebook (is expose_app_in_browser on?)' };
      const json = w.context.model.toJSON();
      const codeEls = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'));
      const cells = json.cells.filter((c) => c.cell_type === 'code').map((c, i) => {
        const el = codeEls[i];
        const errors = c.outputs.filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`);
        const wanted = c.outputs.filter((o) => o.data && o.data[mime] !== undefined).map((o) => {
          const f = o.data[mime];
          return Array.isArray(f && f.data) ? f.data.length : -1;
        });
        const charts = el ? Array.from(el.querySelectorAll('.js-plotly-plot')).map((gd) => ({
          svgs: gd.querySelectorAll('svg.main-svg').length,
          traces: Array.isArray(gd._fullData) ? gd._fullData.length : -1,
          drawn: gd.querySelectorAll('.trace, .cartesianlayer path.point, .barlayer path, .pielayer path').length,
        })) : [];
        const fallback = el ? el.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/html"], .jp-OutputArea-output[data-mime-type="image/svg+xml"]').length : 0;
        return { index: i, errors, wanted, charts, fallback, found: !!el };
      });
      return { cells };
    }, PLOTLY);
    if (seen.error) throw new Error(seen.error);
    for (const c of seen.cells) {
      const where = `code cell ${c.index + 1}`;
      if (!c.found) res.problems.push(`${where}: not in the page`);
      for (const e of c.errors) res.problems.push(`${where}: error output ${e}`);
      const tagged = pre.figureCells.includes(c.index);
      const figureProblem = (text) => { res.figureProblems.push(text); if (!res.caught.includes(c.index)) res.caught.push(c.index); };
      if (tagged && c.wanted.length === 0) figureProblem(`${where} is tagged "figure" but has no ${PLOTLY} output`);
      if (c.wanted.length > 0) res.plotlyCells.push(c.index);
      c.wanted.forEach((n, j) => {
        const chart = c.charts[j];
        const ok = n > 0 && chart && chart.svgs > 0 && chart.traces === n && chart.drawn > 0;
        if (!ok) {
          const saw = chart ? `a chart element with ${chart.svgs} svg, ${chart.traces} traces known to plotly, ${chart.drawn} drawn` : (c.fallback ? 'the static fallback (HTML or SVG)' : 'no chart');
          figureProblem(`${where}, figure ${j + 1}: not rendered as a Plotly chart (the figure has ${n < 0 ? 'no list of' : n} traces; the page shows ${saw})`);
        }
      });
      res.figures += c.wanted.length;
    }
    // Screenshots: the whole notebook (the window made as tall as its cells), then each chart.
    const tall = await page.evaluate(() => {
      const outer = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
      return outer ? outer.scrollHeight - outer.clientHeight : 0;
    });
    await page.setViewportSize({ width: 1280, height: Math.min(900 + tall, 30000) });
    await page.waitForTimeout(800);
    const shot = path.join(outDir, `${stem}.png`);
    await page.screenshot({ path: shot });
    res.screenshots.push(shot);
    await page.setViewportSize({ width: 1280, height: 900 });
    const charts = page.locator('.jp-Notebook .jp-CodeCell .js-plotly-plot');
    const n = await charts.count();
    for (let j = 0; j < n; j++) {
      const f = path.join(outDir, `${stem}-figure${j + 1}.png`);
      await charts.nth(j).scrollIntoViewIfNeeded();
      await page.waitForTimeout(200);
      await charts.nth(j).screenshot({ path: f });
      res.screenshots.push(f);
    }
    await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown());
  } catch (e) {
    res.problems.push(`${e.message.split('\n')[0]}`);
    try {
      const f = path.join(outDir, `${stem}-failed.png`);
      await page.screenshot({ path: f });
      res.screenshots.push(f);
    } catch (_) { /* the page is gone */ }
  }
  for (const u of res.external) res.problems.push(`fetched from outside 127.0.0.1: ${u}`);
  await page.close();
  res.figureCells = pre.figureCells;
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  fs.mkdirSync(args.out, { recursive: true });
  const profile = fs.mkdtempSync(path.join(require('os').tmpdir(), 'reprise-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const results = [];
  let failed = false;
  try {
    for (const nb of args.notebooks) {
      const r = await runNotebook(ctx, args, nb, args.out);
      results.push(r);
      const broken = nb === args.broken;
      let verdict;
      if (broken) {
        // Every cell tagged "figure" there holds a broken figure, and each must be caught.
        const missed = r.figureCells.filter((i) => !r.caught.includes(i));
        r.ok = r.figureCells.length > 0 && missed.length === 0 && r.problems.length === 0;
        verdict = r.ok ? 'every broken figure caught, as it must be'
          : missed.length ? `NOT CAUGHT: the figure check passed the broken figure in code cell ${missed.map((i) => i + 1).join(', ')}`
          : 'failed for another reason than its figures';
      } else {
        r.ok = r.problems.length === 0 && r.figureProblems.length === 0;
        verdict = r.ok ? 'ok' : 'FAILED';
      }
      failed = failed || !r.ok;
      console.log(`${nb}: ${verdict} (${r.figures} figure output${r.figures === 1 ? '' : 's'}, ${r.seconds.toFixed(1)} s)`);
      for (const p of [...r.problems, ...r.figureProblems]) console.log(`  ${broken && r.ok ? 'caught' : 'problem'}: ${p}`);
    }
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(args.out, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(`screenshots and results.json: ${args.out}`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(`browser test: ${e.stack || e}`); process.exit(2); });
