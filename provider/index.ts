// The provider helper's public API. Adding a name here makes it public: do it on purpose.
export { addSignedDeclarations, type SignedDeclarations, type SignedDeclarationsOptions, type ToolDeclaration } from './signed-declarations.js';
export { publisherJwks, protectedResourceMetadata, protectedResourceMetadataPath } from './discovery-documents.js';
