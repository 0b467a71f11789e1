// Drives the daemon's web chat (cli/web/) in headless Chromium for
// tests/web/web_chat_browser_test.cc, through playwright-core (pinned in
// package-lock.json, installed by `scripts/deps --test`).
//
//   node web_chat_browser.js CONFIG.json
//
// CONFIG: {"chromium": path, "out": dir for screenshots, "room": name,
//          "pages": [{"url": ..., "say": line}, ...], "expect": N}
// Opens every page (one browser context each, 1280x800), waits until each
// is live, types its line into the form of every page at once and presses
// Enter, waits until every page shows N messages and its peers, takes a
// screenshot of each, and prints one JSON object on stdout:
//   {"pages": [{"messages": [{"key", "nick", "text", "time"}...],
//               "peers": [[cell...]...], "members": [...],
//               "screenshot": path}...]}
// Exit code 3 (and the reason on stderr) when Chromium cannot be started.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

// Without these Chromium waits on connections the machine refuses (it has
// no network) and on services a test machine does not run.
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const userData = fs.mkdtempSync(path.join(config.out, 'profile-'));
  let browser;
  try {
    browser = await chromium.launchPersistentContext(userData, {
      executablePath: config.chromium,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 800 },
      timeout: 60000,
    });
  } catch (e) {
    process.stderr.write('cannot start Chromium: ' + e.message + '\n');
    process.exit(3);
  }
  const timeout = 30000;
  try {
    const pages = [];
    for (const p of config.pages) {
      const page = await browser.newPage();
      page.setDefaultTimeout(timeout);
      page.on('pageerror', (e) => process.stderr.write('page error: ' + e.message + '\n'));
      await page.goto(p.url + '#' + config.room);
      await page.waitForSelector('#conn.on');
      pages.push(page);
    }
    // Every page types its line, then all press Enter at once.
    for (let i = 0; i < pages.length; i++) {
      await pages[i].fill('#text', config.pages[i].say);
    }
    await Promise.all(pages.map((page) => page.press('#text', 'Enter')));
    const result = { pages: [] };
    for (let i = 0; i < pages.length; i++) {
      const page = pages[i];
      await page.waitForFunction(
          (n) => document.querySelectorAll('#messages li[data-key]').length >= n,
          config.expect);
      // The input is empty again once the line was sent.
      await page.waitForFunction(() => document.getElementById('text').value === '');
      await page.waitForFunction(
          (n) => document.querySelectorAll('#peers tbody tr').length >= n,
          pages.length - 1);
      const messages = await page.$$eval('#messages li[data-key]', (items) => items.map((li) => ({
        key: li.dataset.key,
        nick: li.querySelector('.nick').textContent,
        text: li.querySelector('.text').textContent,
        time: li.querySelector('time').textContent,
      })));
      const peers = await page.$$eval('#peers tbody tr', (rows) => rows.map(
          (tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
      const members = await page.$$eval('#members li', (items) => items.map((li) => li.textContent));
      const shot = path.join(config.out, 'daemon-' + i + '.png');
      await page.screenshot({ path: shot });
      result.pages.push({ messages, peers, members, screenshot: shot });
    }
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await browser.close();
    fs.rmSync(userData, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write('error: ' + (e.stack || e.message) + '\n');
  process.exit(1);
});
