# The small N-API addon of the helper: TUN open, fd poll on the main loop, socket options, the
# data path's batched UDP and its AEAD (OpenSSL's, which Node exports; no library to link), and
# nftables through libnftables, opened at run time (nft.cc), and rtnetlink requests for the
# routing (rtnl.cc).
# Built by `npm run build:native` (scripts/build-native.mjs). Linux only.
{
  "targets": [
    {
      "target_name": "umbra_native",
      "sources": [
        "src/addon.cc",
        "src/aead.cc",
        "src/clock.cc",
        "src/errors.cc",
        "src/nft.cc",
        "src/offload.cc",
        "src/poller.cc",
        "src/process.cc",
        "src/rtnl.cc",
        "src/sockopt.cc",
        "src/tun.cc",
        "src/udp.cc"
      ],
      # libdl for nft.cc's dlopen (part of libc since glibc 2.34; a no-op there).
      "libraries": ["-ldl"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      # C++ exceptions are on: node-addon-api turns failed N-API calls into Napi::Error throws,
      # and every entry point lets them propagate to JS as ordinary exceptions.
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
