/**
 * The server behind every path of bench/proxy.bench.ts: an MCP server (SDK, stdio) listing the
 * tool objects of TOOLS_FILE as given (server-everything's 13 tools, each carrying its signed
 * manifest) and answering `echo` the way server-everything does.
 */
import { readFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const tools = JSON.parse(readFileSync(process.env.TOOLS_FILE!, 'utf8')) as unknown[];
const server = new Server({ name: 'bench-echo', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: tools as never }));
server.setRequestHandler(CallToolRequestSchema, async (request) => ({
  content: [{ type: 'text', text: `Echo: ${String((request.params.arguments as { message?: unknown } | undefined)?.message)}` }],
}));
await server.connect(new StdioServerTransport());
