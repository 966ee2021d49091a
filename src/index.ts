// Public library API of fstack-kni.
export { version } from './version.js';

// rtnetlink: one handle per namespace, namespaces, tun devices and TCP sockets in a namespace.
export * from './rtnl/index.js';
export { createTun, type TunDevice, type TunOptions } from './rtnl/tun.js';
export {
  DumpInterruptedError,
  NetlinkError,
  type NetlinkErrorKind,
} from './netlink/errors.js';
export {
  createNetns,
  deleteNetns,
  netnsPath,
  openNetns,
  type NetnsHandle,
  type NetnsOptions,
} from './netlink/netns.js';
export {
  connectTcp,
  listenTcp,
  type ConnectTcpOptions,
  type ListenTcpOptions,
  type TcpEndpointOptions,
} from './netlink/tcp.js';

// f-stack.conf: read exactly as F-Stack does, validate, edit.
export {
  getValue,
  loadConfig,
  parseConfig,
  type Diagnostic,
  type DiagnosticCode,
  type FstackConfig,
  type FstackVersion,
  type KniConfig,
  type LoadedConfig,
  type PortConfig,
  type VlanConfig,
} from './config/model.js';
export { EditError, applyEdits, type EditOperation, type EditResult } from './config/edit.js';
export { ConflictError, editConfigFile, writeConfigFile } from './config/write.js';

// systemd control over D-Bus.
export * from './service/index.js';

// The converge engine: f-stack.conf -> desired state -> plan -> apply, plus diagnosis.
export { KniError, type KniErrorCode } from './kni/errors.js';
export {
  desiredState,
  type DesiredAddress,
  type DesiredInterface,
  type DesiredOptions,
  type DesiredRoute,
  type DesiredState,
} from './kni/desired.js';
export { readLiveState, stateDifferences, type LiveState, type LiveStateSource } from './kni/live.js';
export {
  planChanges,
  type Blocker,
  type Change,
  type ChangeKind,
  type ChangeReason,
  type Drift,
  type Plan,
  type PlanOptions,
} from './kni/plan.js';
export type { KernelOperation } from './kni/operations.js';
export { describeOperation } from './kni/describe.js';
export {
  applyPlan,
  type ApplyOutcome,
  type OperationExecutor,
  type OperationResult,
  type StepResult,
  type StepStatus,
} from './kni/apply.js';
export { rtnlKernel, type KernelAccess } from './kni/kernel.js';
export { converge, type ConvergeOptions, type ConvergeReport, type ConvergeTimings } from './kni/converge.js';
export { diagnose, type Problem, type StatusEnvironment, type StatusReport } from './kni/status.js';
export {
  defaultPackets,
  explainPackets,
  parsePacket,
  type Explanation,
  type KniSteering,
  type PacketKind,
  type Receiver,
  type Verdict,
} from './kni/explain.js';
export { runDemo, type DemoOptions, type DemoReport } from './kni/demo.js';

// Interop: the desired state as systemd-networkd files.
export { NETWORKD_FILE_PREFIX, networkdFiles, type NetworkdFile, type NetworkdOptions } from './export/networkd.js';
export { formatDiagnostic } from './config/diagnostics.js';

// Closing the runbook's loop: restart F-Stack and wait for veth<N>, turn KNI on or off in
// f-stack.conf, check the ports, and keep the interfaces configured.
export {
  DEFAULT_FSTACK_UNIT,
  portInterfaceNames,
  restartAndConverge,
  type InterfaceReturn,
  type RestartFailure,
  type RestartOptions,
  type RestartReport,
  type RestartTimings,
} from './service/restart.js';
export {
  LinkAppearanceTracker,
  LinkWaitError,
  type LinkAppearance,
  type TrackedLinkState,
} from './service/wait-link.js';
export {
  KNI_METHODS,
  disableKniOperations,
  editKniSection,
  enableKniOperations,
  type KniEnableRequest,
  type KniMethod,
} from './service/kni-config.js';
export { verifyTcpPorts, type PortCheck, type PortCheckResult, type VerifyOptions, type VerifyReport } from './service/verify.js';
export { KniWatcher, type WatchOptions } from './service/watch.js';
export { streamLogger, type LogLevel, type LogRecord, type WatchLogger } from './service/watch-log.js';
export { ManagedInterfaces, type ClassifiedEvent, type EventEffect } from './service/watch-events.js';

// Types (and the two tables behind DiagnosticCode and FstackVersion) that appear in the
// signatures above, exported so callers can name them.
export { DIAGNOSTIC_CODES, type Severity } from './config/diagnostics.js';
export type { ConfigDocument, DocumentLine, LineEnding, TextEncoding } from './config/document.js';
export type { EditErrorCode } from './config/edit-values.js';
export type { EditOptions } from './config/edit.js';
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
export type { FileSnapshot } from './config/snapshot.js';
export { FSTACK_VERSIONS, type KniBackend, type KniRealization } from './config/versions.js';
export type { EditFileOptions, EditFileResult, WriteOptions, WriteResult } from './config/write.js';
export type { ApplyOptions, StepError } from './kni/apply.js';
export type { DemoStep } from './kni/demo.js';
export type { DescribeOptions } from './kni/describe.js';
export type { BlockerCode } from './kni/plan.js';
export type { InterfaceStatus, StatusInput } from './kni/status.js';
export type { NativeBusArgument, NativeBusError, NativeBusSignal, NativeBusValue } from './native/native-bus.js';
export type { NetlinkErrorOptions } from './netlink/errors.js';
export type { EventSocket, EventSocketOpener, StateSource } from './rtnl/events.js';
export type { MacvlanModeName } from './rtnl/names.js';
export type { CallOptions } from './service/bus.js';
export type { StreamLoggerOptions } from './service/watch-log.js';
