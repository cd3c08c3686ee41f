/**
 * Flushing a whole file system (syncfs(2), which Node does not offer) with `sync -f`. One shell is
 * kept for the process and runs `sync -f` for each folder written to it: spawning a process from a
 * Node process of this size blocks the event loop for about 5 ms, several times per download of
 * thousands of files, while a line on a pipe costs microseconds. The shell holds the process open
 * only while a flush is waiting, and ends when the process does (its input closes).
 */
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';

/** GNU coreutils' and BusyBox's `sync -f` is syncfs(2). */
const SYNC_COMMANDS = ['/usr/bin/sync', '/bin/sync'];
const SHELL = '/bin/sh';
/** Reads folders, one a line, and answers each with 0 (flushed) or 1, in order. `$0` is the command. */
const LOOP = 'while IFS= read -r d; do if "$0" -f "$d" >/dev/null 2>&1; then echo 0; else echo 1; fi; done';

let syncCommand: string | null | undefined;

/** For tests: flush with this command (null: none, as where no `sync -f` exists; undefined: look again). */
export function useSyncCommand(command: string | null | undefined): void {
  syncCommand = command;
  runner?.stop();
  runner = undefined;
}

class SyncRunner {
  private readonly child: ChildProcessByStdio<Socket, Socket, null>;
  private readonly waiting: Array<(flushed: boolean) => void> = [];
  private answers = '';
  broken = false;

  constructor(command: string) {
    // Pipes are sockets here (what ref and unref need).
    this.child = spawn(SHELL, ['-c', LOOP, command], {
      stdio: ['pipe', 'pipe', 'ignore'],
      windowsHide: true,
    }) as unknown as ChildProcessByStdio<Socket, Socket, null>;
    const fail = (): void => {
      this.broken = true;
      for (const resolve of this.waiting.splice(0)) resolve(false);
    };
    this.child.on('error', fail);
    this.child.on('exit', fail);
    this.child.stdin.on('error', fail);
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.answers += chunk;
      for (let nl = this.answers.indexOf('\n'); nl >= 0; nl = this.answers.indexOf('\n')) {
        const answer = this.answers.slice(0, nl);
        this.answers = this.answers.slice(nl + 1);
        this.waiting.shift()?.(answer === '0');
      }
      if (this.waiting.length === 0) this.idle();
    });
    this.idle();
  }

  flush(folder: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      // Held open while an answer is due: an awaited flush must not let the process end first.
      this.child.ref();
      this.child.stdout.ref();
      this.child.stdin.write(`${folder}\n`);
    });
  }

  stop(): void {
    this.child.stdin.end();
  }

  private idle(): void {
    this.child.unref();
    this.child.stdout.unref();
    this.child.stdin.unref();
  }
}

let runner: SyncRunner | undefined;

/** `sync -f folder`: true once the folder's file system is flushed, false where that cannot be done. */
export function syncFileSystem(folder: string): Promise<boolean> {
  if (process.platform !== 'linux') return Promise.resolve(false);
  if (syncCommand === undefined) syncCommand = SYNC_COMMANDS.find((command) => existsSync(command)) ?? null;
  const command = syncCommand;
  if (command === null) return Promise.resolve(false);
  if (runner?.broken === true) runner = undefined;
  // A name with a line break cannot travel as a line, and without a shell there is no loop: then
  // a process of its own.
  if (!folder.includes('\n')) {
    runner ??= existsSync(SHELL) ? new SyncRunner(command) : undefined;
    if (runner !== undefined) return runner.flush(folder);
  }
  return new Promise((resolve) =>
    execFile(command, ['-f', folder], { windowsHide: true }, (err) => resolve(err === null)),
  );
}
