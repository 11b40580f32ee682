"""The op encoding shared by the op log (disk) and replication (wire): protobuf `Op`."""
