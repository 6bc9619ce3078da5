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
    pub mod attribution {
        pub mod v1 {
            tonic::include_proto!("xiaopu.attribution.v1");
        }
    }
    pub mod bench {
        pub mod v1 {
            tonic::include_proto!("xiaopu.bench.v1");
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
    pub mod settlement {
        pub mod v1 {
            tonic::include_proto!("xiaopu.settlement.v1");
        }
    }
    pub mod storefront {
        pub mod v1 {
            tonic::include_proto!("xiaopu.storefront.v1");
        }
    }
}

pub use xiaopu::attribution::v1 as attribution;
pub use xiaopu::bench::v1 as bench;
pub use xiaopu::eligibility::v1 as eligibility;
pub use xiaopu::feed::v1 as feed;
pub use xiaopu::settlement::v1 as settlement;
pub use xiaopu::storefront::v1 as storefront;
pub use xiaopu::r#type::v1 as types;

pub mod reasons;

/// Feed topics: the contract between a producer's outbox and its consumers. Each
/// names the event message it carries.
pub mod topics {
    /// `eligibility.v1.PromoterStatusChanged`, keyed by person id.
    pub const PROMOTER_STATUS: &str = "eligibility.promoter_status";
    /// `storefront.v1.ListingChanged`, keyed by shop id.
    pub const LISTING: &str = "storefront.listing";
    /// `storefront.v1.CommissionRateSet`, keyed by product id.
    pub const RATE: &str = "storefront.rate";
    /// `storefront.v1.ProductPublished`, `ProductCategorized` and `ProductWithdrawn`,
    /// keyed by product id.
    pub const PRODUCT: &str = "storefront.product";
    /// `storefront.v1.ShareLinkChanged`, keyed by code.
    pub const SHARE_LINK: &str = "storefront.share_link";
    /// `storefront.v1.ShopStatusChanged`, keyed by shop id.
    pub const SHOP: &str = "storefront.shop";
    /// `attribution.v1.CommissionChanged`, keyed by line id.
    pub const COMMISSION: &str = "attribution.commission";
    /// `attribution.v1.BudgetAlert`, keyed by budget id.
    pub const BUDGET: &str = "attribution.budget";
}
