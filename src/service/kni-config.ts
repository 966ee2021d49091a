// The runbook's first step: turn `[kni]` on or off in f-stack.conf, in place, through the
// config module's validated, locked and atomic edit.
import type { EditOperation } from '../config/edit.js';
import type { LoadedConfig } from '../config/model.js';
import { type EditFileResult, editConfigFile } from '../config/write.js';

/** `[kni] method` values F-Stack accepts. */
export const KNI_METHODS = ['accept', 'reject'] as const;
export type KniMethod = (typeof KNI_METHODS)[number];

/** Keys `enable` writes into `[kni]`. Keys left undefined keep their current value. */
export interface KniEnableRequest {
  /** `tcp_port` items: ports or inclusive ranges such as `8000-8010`. */
  tcpPorts?: readonly string[];
  /** `udp_port` items. */
  udpPorts?: readonly string[];
  /** `method`; when undefined, the file's value stays, or accept when the file has none. */
  method?: KniMethod;
  /** `kni_action`: alltokni, alltoff or default (F-Stack 1.21 and later). */
  kniAction?: string;
}

/**
 * Returns the edits that set `enable=1` and the requested keys. The config module
 * uncomments a commented-out `#[kni]` header in place, and the commented `#key=value`
 * lines of the keys set. Other commented lines of the block stay commented.
 */
export function enableKniOperations(
  loaded: LoadedConfig,
  request: KniEnableRequest,
): EditOperation[] {
  const operations: EditOperation[] = [{ kind: 'set', key: 'kni.enable', value: '1' }];

  const method =
    request.method ??
    (loaded.config.kni.present ? loaded.config.kni.method : undefined) ??
    'accept';
  operations.push({ kind: 'set', key: 'kni.method', value: method });
  if (request.tcpPorts !== undefined && request.tcpPorts.length > 0) {
    operations.push({ kind: 'set', key: 'kni.tcp_port', value: request.tcpPorts.join(',') });
  }
  if (request.udpPorts !== undefined && request.udpPorts.length > 0) {
    operations.push({ kind: 'set', key: 'kni.udp_port', value: request.udpPorts.join(',') });
  }
  if (request.kniAction !== undefined) {
    operations.push({ kind: 'set', key: 'kni.kni_action', value: request.kniAction });
  }
  return operations;
}

/**
 * Returns the edit that sets `enable=0` and keeps the rest of `[kni]`, or none when KNI is
 * off already (no active `[kni]` section, or `enable` already 0).
 */
export function disableKniOperations(loaded: LoadedConfig): EditOperation[] {
  if (!loaded.config.kni.present || !loaded.config.kni.enable) return [];
  return [{ kind: 'set', key: 'kni.enable', value: '0' }];
}

/**
 * Applies the operations to the file under its lock. With `dryRun`, computes the result
 * and writes nothing. Throws EditError when F-Stack would read the result differently
 * from what was asked or when it would have errors.
 */
export function editKniSection(
  path: string,
  operations: readonly EditOperation[],
  options: { fstackVersion?: string; dryRun?: boolean } = {},
): Promise<EditFileResult> {
  return editConfigFile(path, operations, {
    ...(options.fstackVersion === undefined ? {} : { fstackVersion: options.fstackVersion }),
    ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
  });
}
