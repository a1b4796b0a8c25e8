import AllauthCore

/// A JWS in compact serialisation (`header.payload.signature`), split and decoded but not yet
/// trusted: our own tokens and the id_tokens of OpenID providers go through this one parser, and
/// each verifier then checks the signature with the key *it* chose for the header's `kid`.
struct CompactJWS {
    let header: JSON
    let signature: [UInt8]
    /// `header.payload` as sent: the bytes the signature covers.
    let signingInput: [UInt8]
    private let payloadSegment: ArraySlice<UInt8>

    /// A header segment whose JSON is known beforehand: the issuer's own headers, which it
    /// wrote itself, need not be decoded and parsed again at every token.
    struct KnownHeader: Sendable {
        let segment: [UInt8]
        let header: JSON
    }

    /// nil for anything that is not three strict base64url segments with a JSON object header.
    /// A header segment equal to one of `knownHeaders` stands for that one's JSON.
    init?(_ token: String, maxLength: Int, knownHeaders: [KnownHeader] = []) {
        guard token.utf8.count <= maxLength else { return nil }
        // The token's bytes, cut at its two dots in place: splitting the String (by Characters, or
        // even by UTF-8 through the generic split) was a third of a rotation (bench/callgrind.sh).
        let bytes = Array(token.utf8)
        guard let firstDot = bytes.firstIndex(of: UInt8(ascii: ".")),
              let secondDot = bytes[(firstDot + 1)...].firstIndex(of: UInt8(ascii: ".")),
              !bytes[(secondDot + 1)...].contains(UInt8(ascii: ".")),
              let header = knownHeaders.first(where: { $0.segment[...] == bytes[..<firstDot] })?.header ?? Self.parseHeader(bytes[..<firstDot]),
              let signature = Base64URL.decode(bytes[(secondDot + 1)...])
        else { return nil }
        self.header = header
        self.signature = signature
        self.signingInput = Array(bytes[..<secondDot])
        self.payloadSegment = bytes[(firstDot + 1)..<secondDot]
    }

    private static func parseHeader(_ segment: ArraySlice<UInt8>) -> JSON? {
        guard let bytes = Base64URL.decode(segment), let header = try? JSON.parse(bytes, maxDepth: 4), case .object = header else { return nil }
        return header
    }

    var algorithm: String? { header["alg"]?.stringValue }
    var kid: String? { header["kid"]?.stringValue }

    /// The claims, once the signature has been checked: a JSON object or nil.
    func payload() -> JSON? {
        guard let bytes = Base64URL.decode(payloadSegment), let payload = try? JSON.parse(bytes, maxDepth: 8),
              case .object = payload
        else { return nil }
        return payload
    }
}
