/**
 * Hosts: where commands run and files go (the local machine or an SSH server).
 * See README.md for the contract.
 */
export type { Command, ExecOptions, ExecResult, Host, RawExecResult, UploadTreeOptions, UploadTreeResult } from './host.js';
export { CommandFailedError, type ConnectFailure, HostConnectError, redact, TransferError } from './errors.js';
export { LocalHost } from './local.js';
export { SshHost, type SshHostOptions } from './ssh.js';
export type { SshConnectOptions } from './ssh-connect.js';
export { type HostKeyPolicy, fingerprint, knownHostsName } from './known-hosts.js';
export { buildManifest, manifestDigest, type TreeEntry, type TreeManifest } from './manifest.js';
export { defaultManifestPath, verifyTreeContent } from './tree-upload.js';
export { describeCommand, shellQuote, wrapCommand } from './shell.js';
export { parseHostList } from './host-list.js';
