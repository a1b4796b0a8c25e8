#if canImport(Glibc)
import Glibc
#endif

/// One connection from nginx: the bytes read so far and the request being assembled from them.
/// Used by one thread at a time (its epoll registration is one-shot), so it needs no lock.
final class FastCGIConnection {
    /// What the bytes received so far amount to.
    enum Event {
        /// No complete request yet: wait until the socket is readable again.
        case needMore
        /// A complete request: its id, the PARAMS stream as received, the body (at most
        /// `maxBodyBytes` + 1 bytes kept) and whether nginx keeps the connection open after the answer.
        case request(id: UInt16, params: [UInt8], body: [UInt8], keepConnection: Bool)
        /// Records to send back at once (FCGI_GET_VALUES, unknown record types, a role we do not play).
        case reply([UInt8])
        /// Malformed input or a peer over the limits: close the connection.
        case protocolError
    }

    let fd: Int32
    /// Received bytes; `start..<end` is not parsed yet.
    private var storage: UnsafeMutableRawPointer
    private var capacity = 16384
    private var start = 0
    private var end = 0

    private var requestID: UInt16?
    private var keepConnection = false
    private var params: [UInt8] = []
    private var paramsComplete = false
    private var body: [UInt8] = []

    /// nginx sends the request headers as params; its own limit (large_client_header_buffers) is far below this.
    static let maxParamsBytes = 1 << 20
    /// A record is at most 8 + 65535 + 255 bytes: the buffer never needs to grow past this.
    private static let maxCapacity = 1 << 17

    init(fd: Int32) {
        self.fd = fd
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Reads everything the socket has now. False once the peer has closed it, or on an error.
    func readAvailable() -> Bool {
        while true {
            if end == capacity {
                if start > 0 {
                    // Move the unparsed tail to the front; most of the time it is empty.
                    memmove(storage, storage + start, end - start)
                    end -= start
                    start = 0
                } else if capacity < Self.maxCapacity {
                    let larger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
                    larger.copyMemory(from: storage, byteCount: end)
                    storage.deallocate()
                    storage = larger
                    capacity *= 2
                } else {
                    return true  // a full record is in the buffer: let the parser take it first
                }
            }
            let count = read(fd, storage + end, capacity - end)
            if count > 0 {
                end += count
                if end < capacity { return true }  // the socket is drained (a short read)
                continue
            }
            if count == 0 { return false }
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
        }
    }

    /// Consumes complete records until a request is complete or the bytes run out.
    func nextEvent(maxBodyBytes: Int) -> Event {
        while true {
            let pending = UnsafeRawBufferPointer(start: storage + start, count: end - start)
            guard let header = FastCGIRecord.Header(pending, at: 0) else {
                // Not even a header, or a wrong version byte.
                return pending.count >= FastCGIRecord.headerLength ? .protocolError : .needMore
            }
            // The rest of the record is still on its way (a record always fits the largest buffer).
            guard pending.count >= header.totalLength else { return .needMore }
            let content = UnsafeRawBufferPointer(rebasing: pending[FastCGIRecord.headerLength..<FastCGIRecord.headerLength + header.contentLength])
            start += header.totalLength
            if start == end { start = 0; end = 0 }
            if let event = consume(header, content, maxBodyBytes: maxBodyBytes) { return event }
        }
    }

    private func consume(_ header: FastCGIRecord.Header, _ content: UnsafeRawBufferPointer, maxBodyBytes: Int) -> Event? {
        switch FastCGIRecord.Kind(rawValue: header.type) {
        case .beginRequest:
            guard content.count >= 8 else { return .protocolError }
            let role = UInt16(content[0]) << 8 | UInt16(content[1])
            guard requestID == nil else {
                // nginx never multiplexes; say so instead of mixing two requests' records.
                return .reply(FastCGIRecord.end(requestID: header.requestID, status: .cannotMultiplex))
            }
            guard role == FastCGIRecord.responderRole else {
                return .reply(FastCGIRecord.end(requestID: header.requestID, status: .unknownRole))
            }
            requestID = header.requestID
            keepConnection = content[2] & FastCGIRecord.keepConnection != 0
            params.removeAll(keepingCapacity: true)
            paramsComplete = false
            body = []
            return nil
        case .abortRequest:
            guard header.requestID == requestID else { return nil }
            requestID = nil
            return keepConnection ? .reply(FastCGIRecord.end(requestID: header.requestID, status: .requestComplete)) : .protocolError
        case .params:
            guard header.requestID == requestID, !paramsComplete else { return nil }
            if content.isEmpty { paramsComplete = true; return nil }
            guard params.count + content.count <= Self.maxParamsBytes else { return .protocolError }
            Self.append(content, to: &params)
            return nil
        case .stdin:
            guard header.requestID == requestID, let id = requestID else { return nil }
            if !content.isEmpty {
                // Keep one byte past the limit, so the decoder can tell "too large" from "exactly full".
                let room = maxBodyBytes + 1 - body.count
                if room > 0 { Self.append(UnsafeRawBufferPointer(rebasing: content.prefix(room)), to: &body) }
                return nil
            }
            guard paramsComplete else { return .protocolError }
            requestID = nil
            let complete = body
            body = []
            return .request(id: id, params: params, body: complete, keepConnection: keepConnection)
        case .getValues:
            // We multiplex nothing; an empty result leaves the peer to its defaults.
            var out: [UInt8] = []
            FastCGIRecord.appendHeader(.getValuesResult, requestID: 0, contentLength: 0, to: &out)
            return .reply(out)
        case .data, .stdout, .stderr, .endRequest, .getValuesResult, .unknownType:
            return nil  // not sent to a responder; ignored as the specification allows
        case nil:
            var out: [UInt8] = []
            FastCGIRecord.appendHeader(.unknownType, requestID: 0, contentLength: 8, to: &out)
            out.append(contentsOf: [header.type, 0, 0, 0, 0, 0, 0, 0])
            return .reply(out)
        }
    }

    /// A raw buffer appended as one copy (a generic append would go byte by byte).
    private static func append(_ bytes: UnsafeRawBufferPointer, to array: inout [UInt8]) {
        bytes.withMemoryRebound(to: UInt8.self) { array.append(contentsOf: $0) }
    }

    /// Writes all of `bytes`, waiting (bounded) while the socket is full. False if nginx went away.
    func write(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let sent = send(fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent > 0 { offset += sent; continue }
                if sent < 0 && errno == EINTR { continue }
                guard sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) else { return false }
                // nginx reads answers as they come; one that stops reading for this long is gone.
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                var ready = poll(&poller, 1, 30_000)
                while ready < 0 && errno == EINTR { ready = poll(&poller, 1, 30_000) }  // a timer signal, not a verdict
                guard ready == 1 else { return false }
            }
            return true
        }
    }
}
