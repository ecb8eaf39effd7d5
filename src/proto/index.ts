export { loadProtoRoot, messageType, protoDir, PROTO_FILES } from './load.js';
export { ProtoName, TypeUrl } from './names.js';
