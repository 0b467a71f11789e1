#!/usr/bin/env node
// The JavaScript end of plumlog's interop tests: SSB's own secret-handshake
// and pull-box-stream packages, talking over stdin/stdout.
//
//   node js_peer.js server NETKEY_HEX SEED_HEX
//   node js_peer.js client NETKEY_HEX SEED_HEX SERVER_PK_HEX
//
// After the handshake the peer echoes every decrypted byte back through its
// own box-stream and, when the other end says goodbye, says goodbye too. It
// writes the remote's public key (hex) to stderr as "remote <hex>", and exits
// 1 with a message on stderr if anything fails.
'use strict'
const pull = require('pull-stream')
const shs = require('secret-handshake')
const sodium = require('chloride')

const [role, netHex, seedHex, serverHex] = process.argv.slice(2)
const appKey = Buffer.from(netHex, 'hex')
const keys = sodium.crypto_sign_seed_keypair(Buffer.from(seedHex, 'hex'))

function fail (msg) {
  process.stderr.write('js_peer: ' + msg + '\n')
  process.exit(1)
}

// stdin as a pull-stream source.
function stdinSource () {
  const queue = []
  let ended = false
  let waiting = null
  function drain () {
    if (!waiting) return
    if (queue.length) { const cb = waiting; waiting = null; cb(null, queue.shift()) } else if (ended) { const cb = waiting; waiting = null; cb(true) }
  }
  process.stdin.on('data', (d) => { queue.push(d); drain() })
  process.stdin.on('end', () => { ended = true; drain() })
  return function (abort, cb) {
    if (abort) { process.stdin.pause(); return cb(abort) }
    waiting = cb
    drain()
  }
}

// stdout as a pull-stream sink; exits when the stream ends.
function stdoutSink (read) {
  read(null, function next (end, data) {
    if (end === true) return process.stdout.write(Buffer.alloc(0), () => process.exit(0))
    if (end) return fail('stream error: ' + (end.message || end))
    if (process.stdout.write(data)) read(null, next)
    else process.stdout.once('drain', () => read(null, next))
  })
}

const timeout = 20000
let duplex
function onSecure (err, stream) {
  if (err) return fail('handshake failed: ' + (err.message || err))
  process.stderr.write('remote ' + stream.remote.toString('hex') + '\n')
  pull(stream.source, pull.through(null, (e) => { if (e && e !== true) fail('box-stream: ' + (e.message || e)) }), stream.sink)
}
if (role === 'server') {
  duplex = shs.createServer(keys, (pk, cb) => cb(null, true), appKey, timeout)(onSecure)
} else if (role === 'client') {
  duplex = shs.createClient(keys, appKey, timeout)(Buffer.from(serverHex, 'hex'), onSecure)
} else {
  fail('usage: js_peer.js server|client NETKEY SEED [SERVER_PK]')
}
pull(stdinSource(), duplex, stdoutSink)
