"""posture/core"""
