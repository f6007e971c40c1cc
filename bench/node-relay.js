// SPDX-License-Identifier: MIT
// node-relay.js -- relay-server.c in JavaScript, with socket.io 4.8: the Node side of the
// comparison. Same events, same middleware, same answers; see the protocol at the top of
// relay-server.c. Nothing else is sent (no users list, no "user connected").
//
// Usage: node node-relay.js [--port N] [--host ADDR] [--ping-interval MS] [--ping-timeout MS]
// (socket.io must be resolvable: compare.sh installs it into bench/.node and sets NODE_PATH).
// Prints "listening on http://HOST:PORT" on stderr; stops on SIGINT/SIGTERM.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const opts = { port: 3000, host: "127.0.0.1", pingInterval: 25000, pingTimeout: 20000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const v = argv[i + 1];
  if (argv[i] === "--port") (opts.port = Number(v)), i++;
  else if (argv[i] === "--host") (opts.host = v), i++;
  else if (argv[i] === "--ping-interval") (opts.pingInterval = Number(v)), i++;
  else if (argv[i] === "--ping-timeout") (opts.pingTimeout = Number(v)), i++;
  else if (argv[i] === "--max-clients") i++; // sio's socket-table size; Node has no such limit
  else {
    console.error("usage: node node-relay.js [--port N] [--host ADDR] [--ping-interval MS] [--ping-timeout MS]");
    process.exit(2);
  }
}

const httpServer = http.createServer();
const io = new Server(httpServer, { pingInterval: opts.pingInterval, pingTimeout: opts.pingTimeout });

io.use((socket, next) => {
  if (!socket.handshake.auth.username) return next(new Error("invalid username"));
  next();
});

io.on("connection", (socket) => {
  const room = socket.handshake.auth.room;
  if (typeof room === "string" && room) socket.join(room);

  socket.on("private message", (msg) => {
    if (!msg || typeof msg !== "object" || Array.isArray(msg) || typeof msg.to !== "string" || !msg.to) return;
    socket.to(msg.to).emit("private message", { content: msg.content, from: socket.id });
  });

  socket.on("broadcast", (msg) => {
    if (!msg || typeof msg !== "object" || Array.isArray(msg) || typeof msg.room !== "string" || !msg.room) return;
    socket.to(msg.room).emit("broadcast", { content: msg.content });
  });

  socket.on("ping", (...args) => {
    const cb = args.pop();
    if (typeof cb === "function") cb(...args);
  });
});

httpServer.listen(opts.port, opts.host, () => {
  console.error(`listening on http://${opts.host}:${httpServer.address().port}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
