// swift-tools-version:5.9
// The chatwire Swift package: the uniffi-generated bindings (client and event model, one Swift
// module) over two C modules that declare the FFI, linked against libchatwire_ffi, plus the
// hand-written AsyncStream extensions in Chatwire/.
//
// Run `./generate.sh <path to libchatwire_ffi>` first: it writes the generated Swift files and
// the C modules under Sources/ (not committed). Link the library built for your platform
// (`cargo build -p chatwire-ffi --release --target aarch64-apple-ios`, an XCFramework for an
// app) by putting its directory on the linker's search path.
import PackageDescription

let package = Package(
    name: "Chatwire",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Chatwire", targets: ["Chatwire"]),
    ],
    targets: [
        .systemLibrary(name: "chatwire_ffiFFI", path: "Sources/chatwire_ffiFFI"),
        .systemLibrary(name: "chatwire_coreFFI", path: "Sources/chatwire_coreFFI"),
        .target(
            name: "Chatwire",
            dependencies: ["chatwire_ffiFFI", "chatwire_coreFFI"],
            path: "Sources/Chatwire",
            linkerSettings: [.linkedLibrary("chatwire_ffi")]
        ),
    ]
)
