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
        var method = HTTPRequest.Method.get
        var path = "/"
        var query = ""
        var remoteAddress = ""
        var isSecure = false
        var contentLength: String?
        var fields = HTTPFields()
        for (name, rawValue) in params {
            let value = String(decoding: rawValue, as: UTF8.self)
            switch name {
            case "REQUEST_METHOD": method = HTTPRequest.Method(value) ?? .get
            case "DOCUMENT_URI": path = value
            case "QUERY_STRING": query = value
            case "REMOTE_ADDR": remoteAddress = value
            case "HTTPS": isSecure = !value.isEmpty && value.lowercased() != "off"
            case "CONTENT_LENGTH": contentLength = value
            case "CONTENT_TYPE": if !value.isEmpty { fields.append(HTTPField(name: .contentType, value: value)) }
            default:
                guard name.hasPrefix("HTTP_"), name != "HTTP_CONTENT_LENGTH", name != "HTTP_CONTENT_TYPE",
                      let fieldName = HTTPField.Name(String(name.dropFirst(5)).replacingUnderscores())
                else { continue }
                // nginx joins repeated Cookie headers with "; " into one HTTP_COOKIE; others arrive once.
                fields.append(HTTPField(name: fieldName, value: value))
            }
        }
        var body: [UInt8] = []
        var bodyStatus = Request.BodyStatus.complete
        switch contentLength.map({ $0.isEmpty ? 0 : Int($0) }) {
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
        if path.isEmpty { path = "/" }
        return Request(
            method: method, path: path, query: query, headerFields: fields,
            remoteAddress: remoteAddress, isSecure: isSecure, body: body, bodyStatus: bodyStatus
        )
    }
}

extension String {
    /// `ACCEPT_LANGUAGE` → `accept-language` (bytes: param names are ASCII).
    fileprivate func replacingUnderscores() -> String {
        String(decoding: utf8.map { byte in
            byte == UInt8(ascii: "_") ? UInt8(ascii: "-") : (byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
        }, as: UTF8.self)
    }
}
