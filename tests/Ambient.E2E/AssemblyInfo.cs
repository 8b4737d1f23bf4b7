// Each mesh runs a control plane, two agents and their pods: on a small box, meshes built in parallel only slow each
// other down (and invite timeouts). One collection at a time; the whole project takes about a minute or two.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
