import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/pipeline.ts';

// CI's committed-secret scan (.ci/scan-secrets), run on throwaway git repositories.
// The secret-looking values are assembled here from pieces, so that this file does not match.

const AWS_KEY = ['AK', 'IA', 'Z7Q4', 'M2XK', '9PLD', 'W3RT'].join('');
const SLACK_TOKEN = ['xo', 'xb-', '2738491', '-', 'aZ9kLm2QpR7tXv'].join('');

describe('the committed-secret scan of CI', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  function repoWith(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'quorum-scan-'));
    dirs.push(dir);
    mkdirSync(join(dir, '.ci'));
    copyFileSync(join(ROOT, '.ci/scan-secrets'), join(dir, '.ci/scan-secrets'));
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, stdio: 'ignore' });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'files');
    return dir;
  }

  const scan = (dir: string) => spawnSync('bash', ['.ci/scan-secrets'], { cwd: dir, encoding: 'utf8' });

  it('passes a clean repository', () => {
    const r = scan(repoWith({ 'src/a.ts': 'export const apiKey = process.env.QUORUM_API_KEY;\n' }));
    expect(r.stdout).toContain('no committed secrets found');
    expect(r.status).toBe(0);
  });

  it('fails on a committed key or token, naming file and line but never the value', () => {
    const r = scan(repoWith({ 'src/a.ts': `const x = 1;\nconst key = '${AWS_KEY}';\n`, 'config/notify.yaml': `slack: ${SLACK_TOKEN}\n` }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('src/a.ts:2');
    expect(r.stderr).toContain('config/notify.yaml:1');
    expect(r.stderr + r.stdout).not.toContain(AWS_KEY);
    expect(r.stderr + r.stdout).not.toContain(SLACK_TOKEN);
  });

  it('fails on a tracked .env file or private key file', () => {
    expect(scan(repoWith({ '.env': 'QUORUM_TOKEN=abc\n' })).status).toBe(1);
    expect(scan(repoWith({ 'keys/deploy.pem': 'x\n' })).status).toBe(1);
    expect(scan(repoWith({ '.env.example': 'QUORUM_TOKEN=\n' })).status).toBe(0);
  });

  it('lets a line that says it holds a fake value through', () => {
    expect(scan(repoWith({ 'src/a.test.ts': `const key = '${AWS_KEY}'; // fake, for the test\n` })).status).toBe(0);
  });
});
