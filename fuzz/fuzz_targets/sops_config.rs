#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gitseal_fuzz::properties::sops_config(data));
