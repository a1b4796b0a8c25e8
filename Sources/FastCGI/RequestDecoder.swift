#if canImport(Glibc)
import Glibc
#endif
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
        var isMonitoring = false
        var contentLength: String?
        var headers: [HTTPField] = []
        var authorization: String?
        var cookieHeaders: [String] = []

        /// Headers most requests carry, with their names made once: a name built from the param
        /// (lowercased into a String, then checked as a token by `HTTPField.Name`) costs more.
        private static let knownNames: [(param: [UInt8], name: HTTPField.Name)] = [
            "HOST", "USER_AGENT", "ACCEPT", "ACCEPT_LANGUAGE", "ACCEPT_ENCODING", "ORIGIN", "CONNECTION",
        ].map { param in (Array(param.utf8), Array(param.utf8).withUnsafeBufferPointer { HTTPField.Name(lowercasedName($0))! }) }

        /// `ACCEPT_LANGUAGE` → `accept-language` (bytes: param names are ASCII).
        private static func lowercasedName(_ param: UnsafeBufferPointer<UInt8>) -> String {
            String(decoding: param.map { byte in
                byte == UInt8(ascii: "_") ? UInt8(ascii: "-") : (byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
            }, as: UTF8.self)
        }

        // Names are compared as bytes with memcmp, after their length: a comparison of slices went
        // through the generic path, and ten params a request times eight names added up to a
        // tenth of a verify/ request (bench/callgrind.sh).
        private static func `is`(_ name: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
            name.count == literal.utf8CodeUnitCount && memcmp(name.baseAddress!, literal.utf8Start, name.count) == 0
        }

        /// Whether a param's header part names `upper` (letters only) in any case, as the lowercased
        /// name would.
        private static func names(_ header: UnsafeBufferPointer<UInt8>, _ upper: StaticString) -> Bool {
            header.count == upper.utf8CodeUnitCount
                && zip(header, UnsafeBufferPointer(start: upper.utf8Start, count: upper.utf8CodeUnitCount)).allSatisfy { $0 == $1 || $0 == $1 + 0x20 }
        }

        mutating func add(name: ArraySlice<UInt8>, value: ArraySlice<UInt8>) {
            guard !name.isEmpty else { return }
            name.withUnsafeBufferPointer { name in
                if name.count > 5, Self.is(UnsafeBufferPointer(rebasing: name[..<5]), "HTTP_") {
                    addHeader(UnsafeBufferPointer(rebasing: name[5...]), value)
                } else {
                    addVariable(name, value)
                }
            }
        }

        /// An `HTTP_*` param: a request header.
        private mutating func addHeader(_ header: UnsafeBufferPointer<UInt8>, _ value: ArraySlice<UInt8>) {
            guard !Self.is(header, "CONTENT_LENGTH"), !Self.is(header, "CONTENT_TYPE") else { return }
            if Self.names(header, "AUTHORIZATION") {
                let text = HeaderValue.legalized(String(decoding: value, as: UTF8.self))
                authorization = authorization.map { $0 + ", " + text } ?? text
                return
            }
            if Self.names(header, "COOKIE") {
                // nginx joins repeated Cookie headers with "; " into one HTTP_COOKIE.
                cookieHeaders.append(HeaderValue.legalized(String(decoding: value, as: UTF8.self)))
                return
            }
            let fieldName: HTTPField.Name
            if let known = Self.knownNames.first(where: { $0.param.count == header.count && $0.param.elementsEqual(header) }) {
                fieldName = known.name
            } else {
                guard let name = HTTPField.Name(Self.lowercasedName(header)) else { return }
                fieldName = name
            }
            // Other headers arrive once each (nginx joins repeated ones).
            headers.append(HTTPField(name: fieldName, value: String(decoding: value, as: UTF8.self)))
        }

        /// A CGI variable.
        private mutating func addVariable(_ name: UnsafeBufferPointer<UInt8>, _ value: ArraySlice<UInt8>) {
            let text = { String(decoding: value, as: UTF8.self) }
            switch name.count {
            case 14 where Self.is(name, "REQUEST_METHOD"):
                method = value.elementsEqual("GET".utf8) ? .get : value.elementsEqual("POST".utf8) ? .post : HTTPRequest.Method(text()) ?? .get
            case 14 where Self.is(name, "CONTENT_LENGTH"):
                contentLength = text()
            case 12 where Self.is(name, "DOCUMENT_URI"):
                path = text()
            case 12 where Self.is(name, "QUERY_STRING"):
                query = text()
            case 12 where Self.is(name, "CONTENT_TYPE"):
                if !value.isEmpty { headers.append(HTTPField(name: .contentType, value: text())) }
            case 11 where Self.is(name, "REMOTE_ADDR"):
                remoteAddress = text()
            case 5 where Self.is(name, "HTTPS"):
                isSecure = !value.isEmpty && text().lowercased() != "off"
            case 22 where Self.is(name, "JWT_ALLAUTH_MONITORING"):
                isMonitoring = value.elementsEqual("1".utf8)
            default:
                break
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
        var headerFields = HTTPFields()
        for field in fields.headers { headerFields.appendField(field) }
        var request = Request(
            method: fields.method, path: fields.path.isEmpty ? "/" : fields.path, query: fields.query, headerFields: headerFields,
            authorization: fields.authorization, cookies: fields.cookieHeaders.isEmpty ? [:] : Request.parseCookies(fields.cookieHeaders),
            remoteAddress: fields.remoteAddress, isSecure: fields.isSecure, body: body, bodyStatus: bodyStatus
        )
        request.isMonitoring = fields.isMonitoring
        return request
    }
}
