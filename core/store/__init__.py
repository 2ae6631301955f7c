"""The file store on disk: one Part 10 file per instance (``files``) and the intake journal
that makes a received image durable before it is acknowledged (``journal``)."""
