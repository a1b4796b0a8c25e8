import CQRencode

/// A QR code of a provisioning URI as an SVG document. The symbol comes from Debian's libqrencode
/// (error correction, masking and versions are its job); the SVG is written here because
/// libqrencode draws only to its command-line tool's files, and one `<path>` of unit squares
/// over its module matrix is a dozen lines.
enum QRCode {
    /// Light modules around the symbol, as the QR specification asks of readers' surroundings.
    static let quietZone = 4

    enum QRError: Error { case encodingFailed }

    static func svg(for text: String) throws -> String {
        guard let symbol = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { throw QRError.encodingFailed }
        defer { QRcode_free(symbol) }
        let width = Int(symbol.pointee.width)
        let size = width + 2 * quietZone
        var path = ""
        for y in 0..<width {
            for x in 0..<width where symbol.pointee.data[y * width + x] & 1 == 1 {
                // Bit 0 of each byte is the module's colour (1 = dark); the other bits are libqrencode's bookkeeping.
                path += "M\(x + quietZone) \(y + quietZone)h1v1h-1z"
            }
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(size) \(size)" width="\(size * 8)" height="\(size * 8)" shape-rendering="crispEdges">\
            <rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
            """
    }
}
