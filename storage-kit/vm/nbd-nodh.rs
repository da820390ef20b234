// Test-only LD_PRELOAD shim for the VM (docs/storage.md, "Tests"):
// nbd-server 3.24 generates 2048-bit DH parameters at every start, which
// takes seconds to tens of seconds under emulation. The kit's exports use
// no TLS, so the parameters are never used.
#[no_mangle]
pub extern "C" fn gnutls_dh_params_generate2(_params: *mut core::ffi::c_void, _bits: u32) -> i32 {
    0
}
