"""docker_k8s: a service packaged with a Dockerfile and deployed with Kubernetes manifests.

The package runs the same way in the repository (``python -m
stage4_architecture.docker_k8s.serve``) and in the image (``python -m docker_k8s.serve``): its
modules import each other relatively, so the folder works under either name.
"""
