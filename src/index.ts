// Public library API of fstack-kni.
export { version } from './version.js';

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
