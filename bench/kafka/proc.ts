/**
 * Figures about a broker process read from Linux's /proc, the same way for every system: the JVM of
 * Apache Kafka and the Node process of Rafka are both measured from outside, by pid.
 *
 * - peak RSS: `VmHWM` of /proc/<pid>/status (the high-water mark of resident memory, kB);
 * - RSS now: `VmRSS`;
 * - CPU seconds: utime + stime of /proc/<pid>/stat (all threads: GC, JIT and I/O threads count).
 *
 * On a system without /proc every figure is null and the table shows "n/a".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | null = null;

/** Clock ticks per second of /proc's CPU times (getconf CLK_TCK; 100 when it cannot be read). */
export function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function statusField(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Peak resident set size in bytes (VmHWM), or null. */
export function peakRssBytes(pid: number): number | null {
  return statusField(pid, 'VmHWM');
}

/** Current resident set size in bytes (VmRSS), or null. */
export function rssBytes(pid: number): number | null {
  return statusField(pid, 'VmRSS');
}

/**
 * The fields of /proc/<pid>/stat after the command name (field 2 may hold spaces; the fields after
 * its closing parenthesis are plain): ppid is [1], utime [11], stime [12], cutime [13], cstime [14].
 */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU seconds the process has used so far, or null. */
export function cpuSeconds(pid: number): number | null {
  try {
    const fields = statFields(pid);
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return null;
  }
}

/** The parent of a process (a PostgreSQL backend's: the postmaster), or null without /proc. */
export function parentPid(pid: number): number | null {
  try {
    return Number(statFields(pid)[1]);
  } catch {
    return null;
  }
}

/**
 * CPU seconds of a process and its children (a PostgreSQL server: the postmaster and its backends,
 * WAL writer, checkpointer…): its own utime + stime, the children it has reaped (cutime + cstime:
 * backends that exited), and the live children's own figures. Null without /proc.
 */
export function treeCpuSeconds(pid: number): number | null {
  const ticks = (f: string[]) => Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  try {
    let total = ticks(statFields(pid));
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const f = statFields(entry);
        if (Number(f[1]) === pid) total += ticks(f);
      } catch {
        // exited meanwhile (its time is in the parent's cutime once reaped)
      }
    }
    return total / clockTicks();
  } catch {
    return null;
  }
}

/**
 * CPU seconds of the process's main thread, or null: its time on a CPU from
 * /proc/<pid>/task/<pid>/schedstat (nanoseconds), else user + system from its stat (clock ticks,
 * 10 ms each: too coarse for a produce of a fraction of a second). For Rafka that is the event loop:
 * every request is handled there, while libuv's pool threads run the file writes and fsyncs and V8's
 * threads part of the GC. Its share of a workload's time says whether the one loop is the bottleneck
 * (issue 22).
 */
export function mainThreadCpuSeconds(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
  } catch {
    // No schedstat (a kernel without CONFIG_SCHED_INFO): the stat's ticks.
  }
  try {
    const fields = statFields(`${pid}/task/${pid}`);
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system) of this process's children that have exited and been waited for
 * (cutime + cstime of /proc/self/stat), or null. Around a workload it is the CPU of the clients the
 * bench ran for it (the broker, still running, is not in it): a broker that answers differently can
 * make its clients spend more or less per record, on the same two cores.
 */
export function reapedChildrenCpuSeconds(): number | null {
  try {
    const fields = statFields('self');
    return (Number(fields[13]) + Number(fields[14])) / clockTicks();
  } catch {
    return null;
  }
}

/** The 1-minute load average and the number of CPUs: how busy the machine was around a measurement. */
export function loadAverage(): number | null {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}
