mod smoke;
mod monitor;
