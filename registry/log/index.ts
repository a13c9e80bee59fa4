export { LogError, type LogErrorCode } from './errors.js';
export { TransparencyLog, type TransparencyLogOptions } from './transparency-log.js';
export { toLeafData } from './leaf.js';
export {
  fsckLog,
  type FsckOptions,
  type FsckReport,
  type FsckProblem,
  type FsckProblemCode,
  type FsckEntry,
} from './fsck.js';
