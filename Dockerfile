# The workbench's SageMaker bring-your-own-container image: `wb-container train|serve|monitor`.
#
#   docker build -t workbench-container .
#   docker run --rm -v $PWD/opt_ml:/opt/ml workbench-container train
#   docker run --rm -p 8080:8080 -v $PWD/opt_ml:/opt/ml workbench-container serve
#
# SageMaker runs `<image> train` for training jobs and `<image> serve` for endpoints; the
# exec-form ENTRYPOINT makes SIGTERM reach the server for a graceful stop. A Model Monitor
# schedule using this image as its analyzer passes the argument `monitor` (ContainerArguments).
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --locked --release -p wb-container

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/wb-container /usr/local/bin/wb-container
EXPOSE 8080
ENTRYPOINT ["wb-container"]
