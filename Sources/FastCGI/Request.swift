import HTTPTypes

/// An HTTP request as nginx handed it over FastCGI: a plain value with no I/O attached.
public struct Request: Sendable {
    /// What became of the request body while it was read from the web server.
    public enum BodyStatus: Sendable, Equatable {
        case complete
        /// CONTENT_LENGTH (or the bytes actually sent) exceeded the configured limit; the body was not kept.
        case tooLarge
        /// CONTENT_LENGTH was present but not a non-negative integer.
        case invalidLength
    }

    public var method: HTTPRequest.Method
    /// The decoded, normalised path (nginx's `$document_uri`), without the query string.
    public var path: String
    /// The raw query string, without the leading `?`.
    public var query: String
    public var headerFields: HTTPFields
    /// Cookies by name; when a name repeats, the first occurrence wins (as browsers send the most specific first).
    public var cookies: [String: String]
    /// The client address as nginx resolved it (after its realip module, if configured).
    public var remoteAddress: String
    /// True when nginx says the client connection was TLS (`HTTPS=on`).
    public var isSecure: Bool
    public var body: [UInt8]
    public var bodyStatus: BodyStatus

    public init(
        method: HTTPRequest.Method,
        path: String,
        query: String = "",
        headerFields: HTTPFields = [:],
        remoteAddress: String = "127.0.0.1",
        isSecure: Bool = false,
        body: [UInt8] = [],
        bodyStatus: BodyStatus = .complete
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headerFields = headerFields
        self.cookies = Request.parseCookies(headerFields[values: .cookie])
        self.remoteAddress = remoteAddress
        self.isSecure = isSecure
        self.body = body
        self.bodyStatus = bodyStatus
    }

    /// Parses `Cookie` header values (`a=1; b=2`). Malformed pairs are skipped, surrounding quotes
    /// removed. Works on bytes: a refresh cookie is ~1 KB and this runs on every request.
    public static func parseCookies(_ headerValues: [String]) -> [String: String] {
        var cookies: [String: String] = [:]
        for header in headerValues {
            for pair in header.utf8.split(separator: UInt8(ascii: ";")) {
                guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { continue }
                let name = trimmed(pair[pair.startIndex..<equals])
                var value = trimmed(pair[pair.index(after: equals)...])
                if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") {
                    value = value.dropFirst().dropLast()
                }
                guard !name.isEmpty else { continue }
                let key = String(Substring(name))
                if cookies[key] == nil { cookies[key] = String(Substring(value)) }
            }
        }
        return cookies
    }

    private static func trimmed(_ bytes: Substring.UTF8View.SubSequence) -> Substring.UTF8View.SubSequence {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return slice
    }
}
