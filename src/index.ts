// Public library API of fstack-kni.

// Types (and the two tables behind DiagnosticCode and FstackVersion) that appear in the
// signatures above, exported so callers can name them.
export { DIAGNOSTIC_CODES, formatDiagnostic, type Severity } from './config/diagnostics.js';
export type { ConfigDocument, DocumentLine, LineEnding, TextEncoding } from './config/document.js';
export type { EditOptions } from './config/edit.js';
export { applyEdits, EditError, type EditOperation, type EditResult } from './config/edit.js';
export type { EditErrorCode } from './config/edit-values.js';
export type {
  ConfigEntry,
  DpdkConfig,
  KeyValue,
  NumberedSection,
  ParseOptions,
  SectionHeader,
  SourceLocation,
  SourceMap,
  StopPoint,
} from './config/model.js';
// f-stack.conf: read exactly as F-Stack does, validate, edit.
export {
  type Diagnostic,
  type DiagnosticCode,
  type FstackConfig,
  type FstackVersion,
  getValue,
  type KniConfig,
  type LoadedConfig,
  loadConfig,
  type PortConfig,
  parseConfig,
  type VlanConfig,
} from './config/model.js';
export type { FileSnapshot } from './config/snapshot.js';
export { FSTACK_VERSIONS, type KniBackend, type KniRealization } from './config/versions.js';
export type { EditFileOptions, EditFileResult, WriteOptions, WriteResult } from './config/write.js';
export { ConflictError, editConfigFile, writeConfigFile } from './config/write.js';
// Interop: the desired state as systemd-networkd files.
export {
  NETWORKD_FILE_PREFIX,
  type NetworkdFile,
  type NetworkdOptions,
  networkdFiles,
} from './export/networkd.js';
export type { ApplyOptions, StepError } from './kni/apply.js';
export {
  type ApplyOutcome,
  applyPlan,
  type OperationExecutor,
  type OperationResult,
  type StepResult,
  type StepStatus,
} from './kni/apply.js';
export {
  type ConvergeOptions,
  type ConvergeReport,
  type ConvergeTimings,
  converge,
} from './kni/converge.js';
export type { DemoStep } from './kni/demo.js';
export { type DemoOptions, type DemoReport, runDemo } from './kni/demo.js';
export type { DescribeOptions } from './kni/describe.js';
export { describeOperation } from './kni/describe.js';
export {
  type DesiredAddress,
  type DesiredInterface,
  type DesiredOptions,
  type DesiredRoute,
  type DesiredState,
  desiredState,
} from './kni/desired.js';
// The converge engine: f-stack.conf -> desired state -> plan -> apply, plus diagnosis.
export { KniError, type KniErrorCode } from './kni/errors.js';
export {
  defaultPackets,
  type Explanation,
  explainPackets,
  type KniSteering,
  type PacketKind,
  parsePacket,
  type Receiver,
  type Verdict,
} from './kni/explain.js';
export { type KernelAccess, rtnlKernel } from './kni/kernel.js';
export {
  type LiveState,
  type LiveStateSource,
  readLiveState,
  stateDifferences,
} from './kni/live.js';
export type { KernelOperation } from './kni/operations.js';
export type { BlockerCode } from './kni/plan.js';
export {
  type Blocker,
  type Change,
  type ChangeKind,
  type ChangeReason,
  type Drift,
  type Plan,
  type PlanOptions,
  planChanges,
} from './kni/plan.js';
export type { InterfaceStatus, StatusInput } from './kni/status.js';
export { diagnose, type Problem, type StatusEnvironment, type StatusReport } from './kni/status.js';
export type {
  NativeBusArgument,
  NativeBusError,
  NativeBusSignal,
  NativeBusValue,
} from './native/native-bus.js';
export type { NetlinkErrorOptions } from './netlink/errors.js';
export {
  DumpInterruptedError,
  NetlinkError,
  type NetlinkErrorKind,
} from './netlink/errors.js';
export {
  createNetns,
  deleteNetns,
  type NetnsHandle,
  type NetnsOptions,
  netnsPath,
  openNetns,
} from './netlink/netns.js';
export {
  type ConnectTcpOptions,
  connectTcp,
  type ListenTcpOptions,
  listenTcp,
  type TcpEndpointOptions,
} from './netlink/tcp.js';
export type { EventSocket, EventSocketOpener, StateSource } from './rtnl/events.js';
// rtnetlink: one handle per namespace, namespaces, tun devices and TCP sockets in a namespace.
export * from './rtnl/index.js';
export type { MacvlanModeName } from './rtnl/names.js';
export { createTun, type TunDevice, type TunOptions } from './rtnl/tun.js';
export type { CallOptions } from './service/bus.js';
// systemd control over D-Bus.
export * from './service/index.js';
export {
  disableKniOperations,
  editKniSection,
  enableKniOperations,
  KNI_METHODS,
  type KniEnableRequest,
  type KniMethod,
} from './service/kni-config.js';
// Closing the runbook's loop: restart F-Stack and wait for veth<N>, turn KNI on or off in
// f-stack.conf, check the ports, and keep the interfaces configured.
export {
  DEFAULT_FSTACK_UNIT,
  type InterfaceReturn,
  portInterfaceNames,
  type RestartFailure,
  type RestartOptions,
  type RestartReport,
  type RestartTimings,
  restartAndConverge,
} from './service/restart.js';
export {
  type PortCheck,
  type PortCheckResult,
  type VerifyOptions,
  type VerifyReport,
  verifyTcpPorts,
} from './service/verify.js';
export {
  type LinkAppearance,
  LinkAppearanceTracker,
  LinkWaitError,
  type TrackedLinkState,
} from './service/wait-link.js';
export { KniWatcher, type WatchOptions } from './service/watch.js';
export {
  type ClassifiedEvent,
  type EventEffect,
  ManagedInterfaces,
} from './service/watch-events.js';
export type { StreamLoggerOptions } from './service/watch-log.js';
export {
  type LogLevel,
  type LogRecord,
  streamLogger,
  type WatchLogger,
} from './service/watch-log.js';
export { version } from './version.js';
