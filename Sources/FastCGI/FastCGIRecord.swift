/// The FastCGI 1.0 wire format (records, name-value pairs), as far as a responder needs it.
///
/// Hand-written rather than taken from libfcgi: libfcgi reads and writes records only through its
/// blocking, one-connection-per-thread accept loop (`FCGX_Accept_r`), which pins a thread to each
/// connection nginx keeps open and lets requests wait behind idle connections (docs/sizing.md).
/// The event loop in `FastCGIServer` needs the records alone; this is them.
enum FastCGIRecord {
    static let headerLength = 8
    static let version: UInt8 = 1
    /// The largest content of one record (a 16-bit length).
    static let maxContentLength = 65535

    enum Kind: UInt8 {
        case beginRequest = 1, abortRequest = 2, endRequest = 3, params = 4, stdin = 5, stdout = 6
        case stderr = 7, data = 8, getValues = 9, getValuesResult = 10, unknownType = 11
    }

    /// FCGI_RESPONDER, the only role we play.
    static let responderRole: UInt16 = 1
    /// BEGIN_REQUEST flag: keep the connection open after the answer (nginx `fastcgi_keep_conn on`).
    static let keepConnection: UInt8 = 1

    enum ProtocolStatus: UInt8 {
        case requestComplete = 0, cannotMultiplex = 1, overloaded = 2, unknownRole = 3
    }

    /// One record's header, read from the first eight bytes of `bytes` at `offset`.
    struct Header {
        var type: UInt8
        var requestID: UInt16
        var contentLength: Int
        var paddingLength: Int
        var totalLength: Int { FastCGIRecord.headerLength + contentLength + paddingLength }

        init?(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
            guard bytes.count - offset >= FastCGIRecord.headerLength, bytes[offset] == FastCGIRecord.version else { return nil }
            type = bytes[offset + 1]
            requestID = UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3])
            contentLength = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            paddingLength = Int(bytes[offset + 6])
        }
    }

    /// Appends one record (content up to 65535 bytes, no padding) to `out`.
    static func append(_ kind: Kind, requestID: UInt16, content: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendHeader(kind, requestID: requestID, contentLength: content.count, to: &out)
        content.withMemoryRebound(to: UInt8.self) { out.append(contentsOf: $0) }  // one copy, not byte by byte
    }

    static func appendHeader(_ kind: Kind, requestID: UInt16, contentLength: Int, to out: inout [UInt8]) {
        out.append(version)
        out.append(kind.rawValue)
        out.append(UInt8(requestID >> 8))
        out.append(UInt8(requestID & 0xFF))
        out.append(UInt8(contentLength >> 8))
        out.append(UInt8(contentLength & 0xFF))
        out.append(0)
        out.append(0)
    }

    /// The whole answer to one request: `stdout` cut into STDOUT records, the empty STDOUT that
    /// ends the stream, and END_REQUEST.
    static func answer(requestID: UInt16, stdout: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(stdout.count + 4 * headerLength + 8 * (stdout.count / maxContentLength + 1))
        stdout.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let length = min(maxContentLength, bytes.count - offset)
                append(.stdout, requestID: requestID, content: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), to: &out)
                offset += length
            }
        }
        appendHeader(.stdout, requestID: requestID, contentLength: 0, to: &out)
        appendEnd(requestID: requestID, status: .requestComplete, to: &out)
        return out
    }

    /// END_REQUEST alone: a request refused before it started.
    static func end(requestID: UInt16, status: ProtocolStatus) -> [UInt8] {
        var out: [UInt8] = []
        appendEnd(requestID: requestID, status: status, to: &out)
        return out
    }

    private static func appendEnd(requestID: UInt16, status: ProtocolStatus, to out: inout [UInt8]) {
        appendHeader(.endRequest, requestID: requestID, contentLength: 8, to: &out)
        out.append(contentsOf: [0, 0, 0, 0, status.rawValue, 0, 0, 0])  // appStatus 0, protocolStatus, reserved
    }

    /// Decodes a PARAMS stream into name-value pairs (what the tests read; the server walks the
    /// stream in place with `forEachNameValuePair`).
    static func nameValuePairs(_ bytes: [UInt8]) -> [(name: String, value: [UInt8])]? {
        var pairs: [(name: String, value: [UInt8])] = []
        let valid = forEachNameValuePair(bytes) { name, value in
            pairs.append((String(decoding: name, as: UTF8.self), Array(value)))
        }
        return valid ? pairs : nil
    }

    /// Calls `body` with each name and value of a PARAMS stream, as slices of `bytes`. False when a
    /// length runs past the end: the lengths come from the peer, and an unchecked one is how
    /// CVE-2025-23016 overflowed libfcgi.
    static func forEachNameValuePair(_ bytes: [UInt8], _ body: (ArraySlice<UInt8>, ArraySlice<UInt8>) -> Void) -> Bool {
        var offset = 0
        func length() -> Int? {
            guard offset < bytes.count else { return nil }
            if bytes[offset] < 0x80 {
                offset += 1
                return Int(bytes[offset - 1])
            }
            guard bytes.count - offset >= 4 else { return nil }
            let value = Int(bytes[offset] & 0x7F) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            offset += 4
            return value
        }
        while offset < bytes.count {
            guard let nameLength = length(), let valueLength = length(),
                  nameLength <= bytes.count - offset, valueLength <= bytes.count - offset - nameLength
            else { return false }
            let name = bytes[offset..<offset + nameLength]
            offset += nameLength
            body(name, bytes[offset..<offset + valueLength])
            offset += valueLength
        }
        return true
    }
}
