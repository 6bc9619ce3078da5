//! Generated protobuf messages and gRPC clients/servers for every Xiaopu package,
//! plus the encoded descriptor set (served by reflection, read by the CLI).

/// Encoded `FileDescriptorSet` of every Xiaopu proto and its imports.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xiaopu_descriptor.bin"));

pub mod xiaopu {
    pub mod r#type {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/xiaopu.r#type.v1.rs"));
        }
    }
    pub mod feed {
        pub mod v1 {
            tonic::include_proto!("xiaopu.feed.v1");
        }
    }
    pub mod eligibility {
        pub mod v1 {
            tonic::include_proto!("xiaopu.eligibility.v1");
        }
    }
}

pub use xiaopu::eligibility::v1 as eligibility;
pub use xiaopu::feed::v1 as feed;
pub use xiaopu::r#type::v1 as types;
