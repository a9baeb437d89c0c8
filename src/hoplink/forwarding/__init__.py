"""Server-side forwarding of clicks and conversions to ad platforms (issue 11): GA4
Measurement Protocol, Meta Conversions API, TikTok Events API. See docs/integrations.md."""
