import type { LaunchSpec } from './processes';

export type ProgressLog = (line: string) => void;

/**
 * One process of the local stack. The stack runner treats every component alike: install, prepare a
 * launch, start detached, probe until it answers; it owns pid files and log tails.
 */
export interface StackComponent {
  readonly name: string;
  /** What clients connect to, e.g. `127.0.0.1:9092` or `http://127.0.0.1:8123`. */
  readonly address: string;
  /** Every TCP port the process binds; `up` refuses to start when a foreign process holds one. */
  readonly ports: number[];
  /** Folder for this component's config, data and logs (under the stack folder). */
  readonly homeDir: string;
  /** Logs worth showing when the component fails, most telling first. */
  readonly logFiles: string[];
  /** Makes binaries available; idempotent and quick once done. */
  install(log: ProgressLog): Promise<void>;
  /** Writes config, initialises storage on first start, and says how to run the process. */
  prepareLaunch(log: ProgressLog): Promise<LaunchSpec>;
  /** A real request that only a working server answers; never throws. */
  isReady(): Promise<boolean>;
}
