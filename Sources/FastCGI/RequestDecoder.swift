import HTTPTypes

/// Turns FastCGI parameters (CGI/1.1 meta-variables as nginx sends them) into a `Request`.
/// Pure: the body is supplied by a reader closure so this is testable without a socket.
public struct RequestDecoder: Sendable {
    public var maxBodyBytes: Int

    public init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    /// - Parameters:
    ///   - params: name/value pairs; names are ASCII, values arbitrary bytes.
    ///   - readBody: reads up to `n` bytes of stdin, returning fewer only at end of stream.
    public func decode(params: [(name: String, value: [UInt8])], readBody: (Int) -> [UInt8]) -> Request {
        var fields = Fields()
        for (name, value) in params { fields.add(name: Array(name.utf8)[...], value: value[...]) }
        return request(fields, readBody: readBody)
    }

    /// The same from an FCGI_PARAMS stream as received, read in place (no array of pairs, no
    /// String per name: this runs for every request). nil when a length in it runs past the end.
    func decode(rawParams: [UInt8], readBody: (Int) -> [UInt8]) -> Request? {
        var fields = Fields()
        guard FastCGIRecord.forEachNameValuePair(rawParams, { fields.add(name: $0, value: $1) }) else { return nil }
        return request(fields, readBody: readBody)
    }

    /// The CGI variables we read, gathered from the params in any order.
    private struct Fields {
        var method = HTTPRequest.Method.get
        var path = "/"
        var query = ""
        var remoteAddress = ""
        var isSecure = false
        var contentLength: String?
        var headers = HTTPFields()

        // Names as bytes, compared as slices: comparing with a literal's UTF8View went byte by
        // byte through the generic path and cost more than the rest of the decoding.
        private static let httpPrefix = Array("HTTP_".utf8)[...]
        private static let contentLengthHeader = Array("CONTENT_LENGTH".utf8)[...]
        private static let contentTypeHeader = Array("CONTENT_TYPE".utf8)[...]
        private static let requestMethod = Array("REQUEST_METHOD".utf8)[...]
        private static let documentURI = Array("DOCUMENT_URI".utf8)[...]
        private static let queryString = Array("QUERY_STRING".utf8)[...]
        private static let remoteAddr = Array("REMOTE_ADDR".utf8)[...]
        private static let https = Array("HTTPS".utf8)[...]

        mutating func add(name: ArraySlice<UInt8>, value: ArraySlice<UInt8>) {
            if name.count > Self.httpPrefix.count, name.prefix(Self.httpPrefix.count) == Self.httpPrefix {
                let header = name.dropFirst(Self.httpPrefix.count)
                guard header != Self.contentLengthHeader, header != Self.contentTypeHeader else { return }
                // `ACCEPT_LANGUAGE` → `accept-language` (bytes: param names are ASCII).
                let lowered = String(decoding: header.map { byte in
                    byte == UInt8(ascii: "_") ? UInt8(ascii: "-") : (byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
                }, as: UTF8.self)
                guard let fieldName = HTTPField.Name(lowered) else { return }
                // nginx joins repeated Cookie headers with "; " into one HTTP_COOKIE; others arrive once.
                headers.append(HTTPField(name: fieldName, value: String(decoding: value, as: UTF8.self)))
                return
            }
            let text = { String(decoding: value, as: UTF8.self) }
            if name == Self.requestMethod {
                method = HTTPRequest.Method(text()) ?? .get
            } else if name == Self.documentURI {
                path = text()
            } else if name == Self.queryString {
                query = text()
            } else if name == Self.remoteAddr {
                remoteAddress = text()
            } else if name == Self.https {
                isSecure = !value.isEmpty && text().lowercased() != "off"
            } else if name == Self.contentLengthHeader {
                contentLength = text()
            } else if name == Self.contentTypeHeader, !value.isEmpty {
                headers.append(HTTPField(name: .contentType, value: text()))
            }
        }
    }

    private func request(_ fields: Fields, readBody: (Int) -> [UInt8]) -> Request {
        var body: [UInt8] = []
        var bodyStatus = Request.BodyStatus.complete
        switch fields.contentLength.map({ $0.isEmpty ? 0 : Int($0) }) {
        case .none:
            // No CONTENT_LENGTH: read what stdin holds, but never more than the limit.
            body = readBody(maxBodyBytes + 1)
            if body.count > maxBodyBytes { body = []; bodyStatus = .tooLarge }
        case .some(.none):
            bodyStatus = .invalidLength
        case .some(.some(let length)):
            if length < 0 {
                bodyStatus = .invalidLength
            } else if length > maxBodyBytes {
                bodyStatus = .tooLarge
            } else if length > 0 {
                body = readBody(length)
            }
        }
        return Request(
            method: fields.method, path: fields.path.isEmpty ? "/" : fields.path, query: fields.query, headerFields: fields.headers,
            remoteAddress: fields.remoteAddress, isSecure: fields.isSecure, body: body, bodyStatus: bodyStatus
        )
    }
}
